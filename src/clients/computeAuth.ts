// Loaded on its own, ahead of the Compute library (google-gax and the clients, ~3 MB to evaluate): the token
// exchange, the first request of every run and the head of its longest chain (the token, then the disk), leaves
// before the library is evaluated, and the library is evaluated while the exchange is on the wire. The library is
// then handed this same GoogleAuth, whose credential client caches the token. google-auth-library is pinned to
// google-gax's own version, so the bundle holds one copy.
import { AsyncLocalStorage } from 'node:async_hooks';
import * as diagnostics from 'node:diagnostics_channel';
import { ClientRequest } from 'node:http';
import { GoogleAuth } from 'google-auth-library';

const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';

/** Published by node:http (gaxios' node-fetch) as a request starts, by fetch (undici) as its headers go out. */
const REQUEST_SENT = ['http.client.request.start', 'undici:client:sendHeaders'];

export interface StartedAuth {
  /** Application Default Credentials, with their access token already being fetched. */
  auth: GoogleAuth;
  /**
   * Settles once the credentials' first request has left (the token exchange, or the subject token's fetch
   * before it), or once the token is there or could not be had: CPU work that waits for it no longer delays them.
   */
  onTheWire: Promise<void>;
}

export function startAuth(projectId: string): StartedAuth {
  let sent = (): void => undefined;
  const onTheWire = new Promise<void>((resolve) => (sent = resolve));
  // Requests made on the token's behalf carry this context (and only they: the cluster's reads do not).
  const tokenContext = new AsyncLocalStorage<true>();
  const listener = (message: unknown): void => {
    if (!tokenContext.getStore()) return;
    // node:http announces a request before its socket connects: it is out once written ('finish').
    const request = (message as { request?: unknown }).request;
    if (request instanceof ClientRequest) request.once('finish', sent);
    else sent();
  };
  for (const channel of REQUEST_SENT) diagnostics.subscribe(channel, listener);
  void onTheWire.then(() => {
    for (const channel of REQUEST_SENT) diagnostics.unsubscribe(channel, listener);
  });
  const auth = new GoogleAuth({ projectId, scopes: [CLOUD_PLATFORM] });
  // A failure here is met again, and reported, by the first Compute call (which asks for the token itself).
  tokenContext.run(true, () => auth.getAccessToken()).then(sent, sent);
  return { auth, onTheWire };
}
