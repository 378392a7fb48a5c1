import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  clusterOptions,
  EDGE_FUNCTIONS,
  type EdgeOptions,
  localOptions,
  PRODUCTION_CONFIG,
  renderEdgeConfig,
} from '../../nginx/render.ts';
import { nginxInstalled, selfSignedCert, testConfig, writeEdgeConfig } from '../../nginx/run.ts';

/** Every rendered edge config passes `nginx -t`, and the committed production render is current. */
describe('nginx edge config', () => {
  const scratch = mkdtemp(join(tmpdir(), 'isekai-nginx-'));
  afterAll(async () => rm(await scratch, { recursive: true, force: true }));

  it('the committed production render is current (run `node nginx/render.ts` after changing it)', async () => {
    expect(await readFile(PRODUCTION_CONFIG, 'utf8')).toBe(renderEdgeConfig(clusterOptions()));
  });

  // Production paths (/etc/letsencrypt, /var/lib/nginx, www-data) redirected to a scratch folder.
  const targets: [string, (dir: string, tls: EdgeOptions['tls']) => EdgeOptions][] = [
    [
      'cluster (production)',
      (dir, tls) =>
        clusterOptions({
          prefix: dir,
          logs: join(dir, 'logs'),
          tls,
          js: join(import.meta.dirname, '../../nginx/edge.js'),
          acmeRoot: join(dir, 'acme'),
        }),
    ],
    [
      'local',
      (dir, tls) =>
        localOptions({
          prefix: dir,
          tls,
          listen: { address: '127.0.0.1', https: 8100, http: 8099 },
          functions: Object.fromEntries(
            EDGE_FUNCTIONS.map((f, i) => [f, { address: `127.0.0.1:${8101 + i}` }]),
          ) as never,
          keycloak: { address: '127.0.0.1:8134' },
        }),
    ],
  ];

  // scripts/install-deps.sh installs nginx and its njs module; without them this fails rather than skips.
  it('has nginx with the njs module to test against', () => {
    expect(nginxInstalled(), 'run scripts/install-deps.sh').toBe(true);
  });

  it.each(targets)('nginx -t passes for the %s render', async (name, make) => {
    const dir = join(await scratch, name.replace(/\W+/g, '-'));
    const tls = await selfSignedCert(dir, 'isekai.dev');
    const options = make(dir, tls);
    const out = await testConfig(options.prefix, await writeEdgeConfig(options));
    expect(out).toContain('test is successful');
  });
});
