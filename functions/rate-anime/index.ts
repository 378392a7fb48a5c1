import { http } from '@google-cloud/functions-framework';
import { rateAnimeFromEnv } from './rate-anime.ts';

http('rate-anime', rateAnimeFromEnv());
