import { http } from '@google-cloud/functions-framework';
import { integratorIngressFromEnv } from './settings.ts';

http('integrator-ingress', integratorIngressFromEnv());
