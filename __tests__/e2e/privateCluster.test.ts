import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import { makeTestPki, opensslAvailable, type TestPki } from '../../standins/kubernetes/tls.js';
import { startLocalWorld, WORLD, type LocalWorld } from '../../standins/world.js';
import { assertNoSecret, ok } from '../support/e2e.js';

// A private cluster, reached the way the README shows: google-github-actions/get-gke-credentials writes the
// kubeconfig (use_dns_based_endpoint, or use_connect_gateway) and the action runs with `cluster` empty. Such a
// kubeconfig names a host, not an IP, with no CA (the endpoint's certificate is publicly trusted: here the
// runner trusts the stand-in's CA through NODE_EXTRA_CA_CERTS and SSL_CERT_FILE, as it trusts Google's), and a
// bearer token; the Connect gateway serves the API under a path. The cluster is the world's, over TLS.

const TOKEN = 'ya29.standin-access-token-for-the-dns-endpoint';
const GATEWAY = '/v1/projects/123456789012/locations/global/gkeMemberships/prod';

/** The kubeconfig get-gke-credentials writes: server, no certificate-authority-data, the token as the user. */
function getGkeCredentialsKubeconfig(dir: string, server: string): string {
  const file = path.join(dir, `kubeconfig-${fs.readdirSync(dir).length}`);
  const context = `gke_${WORLD.project}_us-east5_prod`;
  const config = {
    apiVersion: 'v1',
    clusters: [{ cluster: { server }, name: 'prod' }],
    contexts: [{ context: { cluster: 'prod', user: 'prod' }, name: context }],
    kind: 'Config',
    'current-context': context,
    users: [{ name: 'prod', user: { token: TOKEN } }],
  };
  fs.writeFileSync(file, YAML.stringify(config), { mode: 0o600 });
  return file;
}

function statusOf(url: string, ca: Buffer): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', reject);
  });
}

describe(
  'a private cluster through the kubeconfig get-gke-credentials writes (cluster empty)',
  { skip: !opensslAvailable() && 'openssl is not installed' },
  () => {
    let world: LocalWorld;
    let dir: string;
    let pki: TestPki;
    let trust: Record<string, string>;
    before(async () => {
      world = await startLocalWorld();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyha-private-'));
      // A host name, as a DNS-based endpoint is one (its gke.goog name needs a resolver this machine lacks).
      pki = makeTestPki(dir, 'localhost');
      trust = { NODE_EXTRA_CA_CERTS: pki.files.caCert, SSL_CERT_FILE: pki.files.caCert };
    });
    after(async () => {
      await world.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('the DNS-based endpoint: a first deploy, every request over TLS with the token, which never shows', async () => {
      const tls = await world.kube.listenTls({ cert: pki.serverCert, key: pki.serverKey, tokens: [TOKEN] });
      const server = `https://localhost:${new URL(tls.url).port}`;
      const kubeconfig = getGkeCredentialsKubeconfig(dir, server);
      const run = ok(await world.run({}, { KUBECONFIG: kubeconfig, ...trust }));
      assert.equal(run.outputs.changes, 'true');
      assert.equal(run.outputs.kubeconfig, undefined, 'the action wrote no kubeconfig of its own');
      // The action's own client, helm and kubectl all went through the endpoint, authenticated by the token.
      assert.ok(tls.identities.length > 20, `${tls.identities.length} requests`);
      assert.deepEqual([...new Set(tls.identities)], ['token:0']);
      assertNoSecret(run, TOKEN, WORLD.password);
    });

    it('the Connect gateway: the API under a path; a converged plan through it', async () => {
      const tls = await world.kube.listenTls({
        cert: pki.serverCert,
        key: pki.serverKey,
        tokens: [TOKEN],
        pathPrefix: GATEWAY,
      });
      const server = `https://localhost:${new URL(tls.url).port}${GATEWAY}`;
      const kubeconfig = getGkeCredentialsKubeconfig(dir, server);
      const run = ok(await world.run({ mode: 'plan' }, { KUBECONFIG: kubeconfig, ...trust }));
      assert.equal(run.outputs.changes, 'false', run.outputs.plan);
      assert.equal(run.outputs['helm-revision'], '1', 'the release was read through the gateway');
      // Only the path is served: a client that dropped it would be answered 404, not the API.
      assert.equal(await statusOf(`${tls.url}/api/v1/namespaces`, pki.caCert), 404);
      assert.equal(await statusOf(`${tls.url}${GATEWAY}/api/v1/namespaces`, pki.caCert), 200);
      assert.deepEqual([...new Set(tls.identities)], ['token:0']);
      assertNoSecret(run, TOKEN, WORLD.password);
    });
  },
);
