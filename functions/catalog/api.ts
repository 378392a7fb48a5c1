import Type from 'typebox';
import { defineApi } from '../lib/http/contract.ts';
import { AnimeIdParam, pathParams } from '../lib/http/params.ts';
import { ListQuery, SEASONS, SeasonQuery } from './schemas.ts';

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
    params: pathParams({
      year: Type.Integer({ minimum: 1900, maximum: 2200 }),
      season: Type.Enum([...SEASONS]),
    }),
    access: 'public',
    summary: "One season's anime (winter, spring, summer, fall)",
    query: SeasonQuery,
  },
  getAnime: {
    method: 'GET',
    path: '/anime/:id',
    params: pathParams({ id: AnimeIdParam }),
    access: 'optional',
    summary: "One anime; with a token, also the caller's own entry and rating (`me`)",
  },
});
