import { http } from '@google-cloud/functions-framework';
import { loadFunctionEnv } from '../lib/secrets.ts';
import { libraryFromEnv } from './library.ts';
import { sharedSecrets, vaultSettings } from './settings.ts';

const env = await loadFunctionEnv('library', { shared: sharedSecrets, required: vaultSettings });
http('library', libraryFromEnv(env));
