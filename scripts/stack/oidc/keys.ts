import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint, type JWK } from 'jose';

export interface ProviderSecrets {
  /** Private RSA signing key (RS256) with its `kid`. */
  readonly signingKey: JWK & { kid: string };
  /** Keys for oidc-provider's signed cookies. */
  readonly cookieKeys: string[];
}

/**
 * The signing key and cookie keys, generated on first use and kept in `dataDir/keys.json` (mode 0600,
 * under .data/, which git ignores) so tokens and sessions survive a restart. Delete the file to rotate.
 */
export async function loadOrCreateSecrets(dataDir: string): Promise<ProviderSecrets> {
  const file = join(dataDir, 'keys.json');
  try {
    return JSON.parse(await readFile(file, 'utf8')) as ProviderSecrets;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  const secrets: ProviderSecrets = {
    signingKey: { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: 'RS256', use: 'sig' },
    cookieKeys: [randomBytes(32).toString('base64url')],
  };
  await mkdir(dataDir, { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(secrets), { mode: 0o600 });
  await rename(temp, file);
  return secrets;
}
