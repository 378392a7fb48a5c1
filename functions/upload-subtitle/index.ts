import { http } from '@google-cloud/functions-framework';
import { loadFunctionEnv } from '../lib/secrets.ts';
import { sharedSecrets, vaultSettings } from './settings.ts';
import { uploadSubtitleFromEnv } from './upload-subtitle.ts';

const env = await loadFunctionEnv('upload-subtitle', { shared: sharedSecrets, required: vaultSettings });
http('upload-subtitle', uploadSubtitleFromEnv(env));
