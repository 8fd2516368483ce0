import * as core from '@actions/core';
import { describeError } from './errors.js';
import { parseConfig } from './inputs.js';
import { readInput } from './secrets.js';

/** The runbook, in order. Every input is checked before anything is touched. */
export async function run(): Promise<void> {
  try {
    const config = parseConfig(readInput);
    core.info(
      `Validated inputs for release ${config.release.namespace}/${config.release.name} in ${config.zone}`,
    );
    throw new Error('the deploy steps are not wired in yet');
  } catch (error) {
    core.setFailed(`skyha-action failed: ${describeError(error)}`);
  }
}
