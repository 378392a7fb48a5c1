import Type from 'typebox';

/**
 * The query properties of every paged list: `?page=<n>&perPage=<n>` (1-based page; items per page).
 * Spread into a route's query schema so catalog, library, reviews and notifications take the same names.
 * @example Type.Object({ status: …, ...pagingQuery({ maxPerPage: 100, defaultPerPage: 20 }) })
 */
export function pagingQuery(o: { maxPerPage: number; defaultPerPage: number; maxPage?: number }) {
  return {
    page: Type.Integer({ minimum: 1, maximum: o.maxPage ?? 10_000, default: 1 }),
    perPage: Type.Integer({ minimum: 1, maximum: o.maxPerPage, default: o.defaultPerPage }),
  };
}
