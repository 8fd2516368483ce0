// The SkyPilot API server's state as the stand-ins model it: the content of the disk the server mounts. The Compute
// stand-in keeps it per disk (snapshots copy it, a disk restored from a snapshot gets it, a new empty disk has
// none); the Kubernetes stand-in's SkyPilot server answers from the state of the disk its release mounts.

/** One row of `GET /users` (sky/server/server.py): never password hashes. */
export interface ServerUser {
  id: string;
  name: string;
  role: string;
  /** Unix seconds. */
  created_at: number;
}

export interface ServerState {
  users: ServerUser[];
  /** The names `GET /api/completion/cluster_name` completes from. */
  clusters: string[];
  /** The names `GET /api/completion/storage_name` completes from (default none). */
  storages?: string[];
  /** The names `GET /api/completion/volume_name` completes from (default none). */
  volumes?: string[];
}

/** A deep copy: a snapshot and the disk it was taken of never share rows. */
export function copyServerState(state: ServerState): ServerState {
  return {
    users: state.users.map((u) => ({ ...u })),
    clusters: [...state.clusters],
    ...(state.storages && { storages: [...state.storages] }),
    ...(state.volumes && { volumes: [...state.volumes] }),
  };
}
