// Written by scripts/build.ts. @actions/http-client imports undici only for getAgentDispatcher(), which
// skyha-action never calls; the real undici is not bundled (it cost ~80 ms and ~18 MB at every start).
class ProxyAgent {
  constructor() {
    throw new Error('undici is not bundled in skyha-action: HttpClient.getAgentDispatcher() is not available');
  }
}
module.exports = { ProxyAgent };
