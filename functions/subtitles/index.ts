import { http } from '@google-cloud/functions-framework';
import { loadFunctionEnv } from '../lib/secrets.ts';
import { sharedSecrets, vaultSettings } from './settings.ts';
import { subtitlesFromEnv } from './subtitles.ts';

const env = await loadFunctionEnv('subtitles', { shared: sharedSecrets, required: vaultSettings });
http('subtitles', subtitlesFromEnv(env));
