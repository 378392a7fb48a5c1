/** The one shape of a user's rating (rate-anime's routes, the catalog's `me.rating`). */
export interface RatingView {
  score: number;
  animation: number | null;
  music: number | null;
  plot: number | null;
  characters: number | null;
  review: string | null;
  createdAt: string;
  updatedAt: string;
}

/** Columns of `ratings` that `ratingView` reads. */
export const RATING_COLUMNS = `score, animation, music, plot, characters, review, created_at, updated_at`;

/** A `ratings` row → the rating's API shape (timestamps RFC 3339 UTC ending `Z`). */
export function ratingView(row: Record<string, unknown>): RatingView {
  return {
    score: row.score as number,
    animation: (row.animation as number | null) ?? null,
    music: (row.music as number | null) ?? null,
    plot: (row.plot as number | null) ?? null,
    characters: (row.characters as number | null) ?? null,
    review: (row.review as string | null) ?? null,
    createdAt: (row.created_at as Date).toISOString(),
    updatedAt: (row.updated_at as Date).toISOString(),
  };
}
