import { http } from '@google-cloud/functions-framework';
import { catalogFromEnv } from './catalog.ts';

http('catalog', catalogFromEnv());
