import type { Controller } from './clusterState.js';
import { deploymentController, replicaSetController } from './deployments.js';
import { jobController } from './jobs.js';
import { garbageCollector, namespaceController } from './namespaces.js';
import { podController, workloadStatusController } from './pods.js';
import { ingressStatusController, serviceController } from './services.js';
import { volumeBinder } from './volumes.js';
import { storageProtection } from './protection.js';

/** The simulated controllers, in the order each reconcile round runs them (registered in index.ts). */
export const controllers: readonly Controller[] = [
  garbageCollector,
  namespaceController,
  deploymentController,
  replicaSetController,
  podController,
  workloadStatusController,
  jobController,
  volumeBinder,
  serviceController,
  ingressStatusController,
  storageProtection,
];
