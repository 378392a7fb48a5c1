import { http } from '@google-cloud/functions-framework';
import { loadFunctionEnv } from '../lib/secrets.ts';
import { catalogFromEnv } from './catalog.ts';
import { sharedSecrets, vaultSettings } from './settings.ts';

const env = await loadFunctionEnv('catalog', { shared: sharedSecrets, required: vaultSettings });
http('catalog', catalogFromEnv(env));
