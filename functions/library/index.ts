import { http } from '@google-cloud/functions-framework';
import { libraryFromEnv } from './library.ts';

http('library', libraryFromEnv());
