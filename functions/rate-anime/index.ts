import { http } from '@google-cloud/functions-framework';
import { loadFunctionEnv } from '../lib/secrets.ts';
import { rateAnimeFromEnv } from './rate-anime.ts';
import { sharedSecrets, vaultSettings } from './settings.ts';

const env = await loadFunctionEnv('rate-anime', { shared: sharedSecrets, required: vaultSettings });
http('rate-anime', rateAnimeFromEnv(env));
