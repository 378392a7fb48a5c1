import Type from 'typebox';
import { defineApi } from '../lib/http/contract.ts';
import { AnimeIdParam, EpisodeParam, pathParams } from '../lib/http/params.ts';
import {
  EpisodeRatingInput,
  RatingInput,
  RatingPatch,
  ReviewsQuery,
} from '../lib/tracking/rating-schemas.ts';

const AnimePath = pathParams({ id: AnimeIdParam });
const EpisodePath = pathParams({ id: AnimeIdParam, episode: EpisodeParam });

const Page = {
  page: Type.Integer({ minimum: 1 }),
  perPage: Type.Integer({ minimum: 1 }),
  total: Type.Integer({ minimum: 0 }),
};

/** rate-anime's routes (the table the edge, edge-auth's rules and the OpenAPI document are generated from). */
export const RateAnimeApi = defineApi({
  getRating: {
    method: 'GET',
    path: '/anime/:id/rating',
    params: AnimePath,
    access: 'user',
    summary: "The caller's rating of an anime (score, aspects, review)",
  },
  putRating: {
    method: 'PUT',
    path: '/anime/:id/rating',
    params: AnimePath,
    access: 'user',
    summary: "Rate an anime (score 1–10, optional aspects and review); answers the anime's new aggregate",
    body: RatingInput,
    example: { score: 9, aspects: { animation: 10, music: 9 }, review: 'A quiet, lovely journey.' },
  },
  patchRating: {
    method: 'PATCH',
    path: '/anime/:id/rating',
    params: AnimePath,
    access: 'user',
    summary:
      'Change part of a rating: a field left out keeps its value, `null` clears it (aspects merge one by one)',
    body: RatingPatch,
    example: { review: null, aspects: { music: 10 } },
  },
  deleteRating: {
    method: 'DELETE',
    path: '/anime/:id/rating',
    params: AnimePath,
    access: 'user',
    summary: "Remove the caller's rating",
    status: 204,
  },
  putEpisodeRating: {
    method: 'PUT',
    path: '/anime/:id/episodes/:episode/rating',
    params: EpisodePath,
    access: 'user',
    summary: 'Rate one episode (score 1–10)',
    body: EpisodeRatingInput,
    example: { score: 8 },
  },
  deleteEpisodeRating: {
    method: 'DELETE',
    path: '/anime/:id/episodes/:episode/rating',
    params: EpisodePath,
    access: 'user',
    summary: "Remove the caller's rating of one episode",
    status: 204,
  },
  listEpisodeRatings: {
    method: 'GET',
    path: '/anime/:id/episodes/ratings',
    params: AnimePath,
    access: 'optional',
    summary: "Per-episode averages; with a token, also the caller's own scores",
    response: Type.Object({
      animeId: Type.Integer({ minimum: 1 }),
      episodes: Type.Array(
        Type.Object({
          episode: Type.Integer({ minimum: 1 }),
          count: Type.Integer({ minimum: 1 }),
          mean: Type.Number({ minimum: 1, maximum: 10 }),
          mine: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 10 }), Type.Null()])),
        }),
      ),
    }),
  },
  listReviews: {
    method: 'GET',
    path: '/anime/:id/reviews',
    params: AnimePath,
    access: 'public',
    summary: 'Public reviews of an anime, newest first',
    query: ReviewsQuery,
    response: Type.Object({
      animeId: Type.Integer({ minimum: 1 }),
      items: Type.Array(
        Type.Object({
          userId: Type.String(),
          author: Type.String(),
          score: Type.Integer({ minimum: 1, maximum: 10 }),
          review: Type.String(),
          updatedAt: Type.String({ format: 'date-time' }),
        }),
      ),
      ...Page,
    }),
  },
});
