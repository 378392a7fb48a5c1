import { http } from '@google-cloud/functions-framework';
import { loadFunctionEnv } from '../lib/secrets.ts';
import { edgeAuthFromEnv } from './edge-auth.ts';
import { sharedSecrets, vaultSettings } from './settings.ts';

const env = await loadFunctionEnv('edge-auth', { shared: sharedSecrets, required: vaultSettings });
http('edge-auth', edgeAuthFromEnv(env));
