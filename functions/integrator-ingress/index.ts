import { http } from '@google-cloud/functions-framework';
import { loadFunctionEnv } from '../lib/secrets.ts';
import { integratorIngressFromEnv, sharedSecrets, vaultSettings } from './settings.ts';

const env = await loadFunctionEnv('integrator-ingress', { shared: sharedSecrets, required: vaultSettings });
http('integrator-ingress', integratorIngressFromEnv(env));
