import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClusterState } from './clusterState.js';
import { apiVersionOf, type KubeObject, type ResourceType } from './resources.js';
import { fieldSelector, labelSelector } from './selectors.js';
import type { StoreEvent } from './store.js';

export interface WatchRequest {
  type: ResourceType;
  namespace: string | undefined;
  query: URLSearchParams;
}

/**
 * A watch stream of newline-delimited JSON events. With sendInitialEvents=true (client-go's watch-list,
 * used by helm 4 --wait) the current objects come first as ADDED, then a BOOKMARK marking their end.
 */
export function serveWatch(
  cluster: ClusterState,
  req: IncomingMessage,
  res: ServerResponse,
  watch: WatchRequest,
  streams: Set<ServerResponse>,
): void {
  const { type, namespace, query } = watch;
  const byLabel = labelSelector(query.get('labelSelector'));
  const byField = fieldSelector(query.get('fieldSelector'));
  const wanted = (obj: KubeObject): boolean => byLabel(obj) && byField(obj);
  const inScope = (e: StoreEvent): boolean =>
    e.resourceType === type &&
    (!type.namespaced || namespace === undefined || e.namespace === namespace) &&
    wanted(e.object);

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
  res.flushHeaders();
  streams.add(res);
  const send = (eventType: string, object: KubeObject): void => {
    res.write(`${JSON.stringify({ type: eventType, object })}\n`);
  };

  const resourceVersion = query.get('resourceVersion') ?? '';
  if (query.get('sendInitialEvents') === 'true') {
    for (const obj of cluster.store.list(type, namespace).filter(wanted)) send('ADDED', obj);
    send('BOOKMARK', {
      kind: type.kind,
      apiVersion: apiVersionOf(type),
      metadata: {
        resourceVersion: String(cluster.store.resourceVersion),
        annotations: { 'k8s.io/initial-events-end': 'true' },
      },
    });
  } else if (resourceVersion === '' || resourceVersion === '0') {
    for (const obj of cluster.store.list(type, namespace).filter(wanted)) send('ADDED', obj);
  } else {
    const missed = cluster.store.eventsSince(Number(resourceVersion));
    if (!missed) {
      send('ERROR', {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `too old resource version: ${resourceVersion} (${cluster.store.resourceVersion})`,
        reason: 'Expired',
        code: 410,
      });
      res.end();
      streams.delete(res);
      return;
    }
    for (const e of missed.filter(inScope)) send(e.type, e.object);
  }

  const unsubscribe = cluster.store.subscribe((e) => {
    if (inScope(e)) send(e.type, e.object);
  });
  const timeout = Number(query.get('timeoutSeconds') ?? 0);
  // Unref'd: a watch's timeoutSeconds (helm asks for minutes) must not keep a closed world's process alive.
  const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000).unref() : undefined;
  const stop = (): void => {
    unsubscribe();
    if (timer) clearTimeout(timer);
    streams.delete(res);
  };
  // A request held (a fault, the latency) until its connection was closed has already emitted 'close'.
  if (!res.socket || res.socket.destroyed) return stop();
  req.on('close', stop);
  res.on('close', stop);
}
