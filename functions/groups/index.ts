import { http } from '@google-cloud/functions-framework';
import { loadFunctionEnv } from '../lib/secrets.ts';
import { groupsFromEnv } from './groups.ts';
import { sharedSecrets, vaultSettings } from './settings.ts';

const env = await loadFunctionEnv('groups', { shared: sharedSecrets, required: vaultSettings });
http('groups', groupsFromEnv(env));
