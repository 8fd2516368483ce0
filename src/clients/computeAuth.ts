// Loaded on its own, ahead of the Compute library (google-gax and the clients, ~3 MB to evaluate): the token
// exchange, the first request of every run and the head of its longest chain (the token, then the disk), leaves
// while the library is still loading. The library is then handed this same GoogleAuth, whose credential client
// caches the token. google-auth-library is pinned to google-gax's own version, so the bundle holds one copy.
import { GoogleAuth } from 'google-auth-library';

const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';

/** Application Default Credentials, with their access token already being fetched. */
export function startAuth(projectId: string): GoogleAuth {
  const auth = new GoogleAuth({ projectId, scopes: [CLOUD_PLATFORM] });
  // A failure here is met again, and reported, by the first Compute call (which asks for the token itself).
  auth.getAccessToken().catch(() => undefined);
  return auth;
}
