import { defineApi } from '../lib/http/contract.ts';
import { ListQuery, SeasonQuery } from './schemas.ts';

/** catalog's routes (the table the edge, edge-auth's rules and the OpenAPI document are generated from). */
export const CatalogApi = defineApi({
  listAnime: {
    method: 'GET',
    path: '/anime',
    access: 'public',
    summary: 'Search and list the catalogue (filters, sort, pages)',
    query: ListQuery,
  },
  listSeason: {
    method: 'GET',
    path: '/seasons/:year/:season',
    access: 'public',
    summary: "One season's anime (winter, spring, summer, fall)",
    query: SeasonQuery,
  },
  getAnime: {
    method: 'GET',
    path: '/anime/:id',
    access: 'optional',
    summary: "One anime; with a token, also the caller's own entry and rating (`me`)",
  },
});
