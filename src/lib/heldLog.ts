import * as core from '@actions/core';

/**
 * Log lines of work started ahead of its step (helm's install beside the disk's creation), held back until that
 * step's group opens, so each group holds only its own step's lines.
 */
export class HeldLog {
  private held: string[] | undefined = [];

  readonly write = (text: string): void => {
    if (this.held) this.held.push(text);
    else core.info(text);
  };

  /** Prints what was held back; from now on lines go straight to the log. */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const text of held) core.info(text);
  }
}
