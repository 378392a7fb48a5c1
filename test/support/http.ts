/** A parsed JSON response body, inspected loosely by tests (assertions give it its shape). */
// biome-ignore lint/suspicious/noExplicitAny: tests assert on the shape instead of declaring it
export type Loose = any;

/** Parse a fetch Response as JSON for assertions. */
export const json = (res: Response): Promise<Loose> => res.json();
