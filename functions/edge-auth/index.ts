import { http } from '@google-cloud/functions-framework';
import { edgeAuthFromEnv } from './edge-auth.ts';

http('edge-auth', edgeAuthFromEnv());
