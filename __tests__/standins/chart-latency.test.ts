import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { startLocalWorld } from '../../standins/world.js';

interface Index {
  entries: Record<string, { version: string; urls: string[] }[]>;
}

async function chartUrls(repoUrl: string): Promise<string[]> {
  const answer = await fetch(`${repoUrl}/index.yaml`);
  assert.equal(answer.status, 200);
  const index = YAML.parse(await answer.text()) as Index;
  return Object.values(index.entries).flatMap((versions) => versions.flatMap((v) => v.urls));
}

describe('the chart repository of a local world', () => {
  it('behind a latency proxy, lists chart URLs through the proxy, so the download pays its latency too', async () => {
    const world = await startLocalWorld({ latencyMs: { compute: 0, kube: 0, charts: 0 } });
    try {
      const proxy = world.latency?.charts;
      assert.ok(proxy);
      const urls = await chartUrls(proxy.url);
      assert.ok(urls.length >= 3);
      for (const url of urls) assert.ok(url.startsWith(`${proxy.url}/`), url);
      const download = await fetch(urls[0]!);
      assert.equal(download.status, 200);
      assert.ok((await download.arrayBuffer()).byteLength > 0);
      assert.deepEqual(
        proxy.requests.map((r) => r.path),
        ['/index.yaml', new URL(urls[0]!).pathname],
      );
    } finally {
      await world.close();
    }
  });

  it('without latency, lists chart URLs on the repository itself', async () => {
    const world = await startLocalWorld();
    try {
      const urls = await chartUrls(world.charts.url);
      for (const url of urls) assert.ok(url.startsWith(`${world.charts.url}/`), url);
    } finally {
      await world.close();
    }
  });
});
