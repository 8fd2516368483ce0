import { copyServerState, type ServerState } from '../serverState.js';
import type { DiskJson, SnapshotJson } from './resources.js';

/**
 * What is written on disks and snapshots: the SkyPilot server's state. Kept beside the resources, never in their
 * JSON (it is content, not a field), keyed by the resource object itself, so a deleted disk takes its content
 * with it and a new disk of the same name starts empty. Every copy in or out is deep: a snapshot never changes
 * with its disk, nor a caller's object with the disk.
 */
export class Contents {
  private readonly of = new WeakMap<DiskJson | SnapshotJson, ServerState>();

  set(resource: DiskJson | SnapshotJson, state: ServerState | undefined): void {
    if (state) this.of.set(resource, copyServerState(state));
    else this.of.delete(resource);
  }

  get(resource: DiskJson | SnapshotJson | undefined): ServerState | undefined {
    const state = resource && this.of.get(resource);
    return state && copyServerState(state);
  }

  /** A snapshot taken of a disk, or a disk restored from a snapshot: the content as it is now. */
  copy(from: DiskJson | SnapshotJson, to: DiskJson | SnapshotJson): void {
    this.set(to, this.of.get(from));
  }
}
