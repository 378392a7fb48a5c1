import { gzipSync } from 'node:zlib';
import { asIsekaiError } from '../lib/errors.ts';
import { commitAndPublish } from '../lib/events/commit.ts';
import { implement } from '../lib/http/contract.ts';
import type { AnyRoute } from '../lib/http/types.ts';
import { toProblem } from '../lib/problem.ts';
import { exportEntries, toCsv, toMalXml } from '../lib/tracking/export.ts';
import type { TrackingDeps } from '../lib/tracking/wiring.ts';
import { LibraryTransferApi } from './api.ts';
import { decodeUpload, escapeBareAmpersands } from './mal-decode.ts';
import { applyMalRows } from './mal-import.ts';
import { parseMalXml } from './mal-rows.ts';
import type { ExportQuery } from './schemas.ts';

type Deps = Pick<TrackingDeps, 'db' | 'cache' | 'runtime' | 'publish'>;

/** Build one export file of a user's list. */
export async function buildExport(db: Deps['db'], user: { id: string; name: string }, query: ExportQuery) {
  const entries = await exportEntries(db, user.id);
  const stamp = new Date().toISOString().slice(0, 10);
  const [type, ext, body] =
    query.format === 'mal'
      ? ['application/xml; charset=utf-8', 'xml', toMalXml(entries, user)]
      : query.format === 'csv'
        ? ['text/csv; charset=utf-8; header=present', 'csv', toCsv(entries)]
        : [
            'application/json; charset=utf-8',
            'json',
            JSON.stringify({ exportedAt: new Date().toISOString(), user, entries }, null, 2),
          ];
  const name = `animelist_${stamp}.${ext}${query.gzip ? '.gz' : ''}`;
  const bytes = query.gzip ? gzipSync(body) : Buffer.from(body, 'utf8');
  return { bytes, name, type: query.gzip ? 'application/gzip' : type, count: entries.length };
}

/** Export (MAL XML / JSON / CSV, optionally gzipped) and MAL XML import. */
export function transferRoutes(deps: Deps): AnyRoute[] {
  const { db, cache, publish } = deps;
  return implement(LibraryTransferApi, {
    exportLibrary: async (ctx) => {
      const me = ctx.identity;
      const file = await buildExport(db, { id: me.sub, name: me.username }, ctx.query);
      return {
        headers: {
          'content-type': file.type,
          'content-disposition': `attachment; filename="${file.name}"`,
          'cache-control': 'private, no-store',
        },
        body: file.bytes,
      };
    },
    importLibrary: async (ctx) => {
      const me = ctx.identity;
      const decoded = decodeUpload(ctx.raw ?? Buffer.alloc(0));
      const { rows } = parseMalXml(escapeBareAmpersands(decoded.text));
      const file = { encoding: decoded.encoding, gzipped: decoded.gzipped, rows: rows.length };
      const streaming = /application\/x-ndjson/.test(String(ctx.req.headers.accept ?? ''));
      if (!streaming) {
        const result = await commitAndPublish(
          { db, publish },
          (tx) => applyMalRows(tx, me, rows),
          (r) => cache.invalidate(r.changedAnime),
          { bulk: true },
        );
        return { headers: { 'cache-control': 'no-store' }, body: { file, ...result.report } };
      }
      // Progress as NDJSON lines; the last line is the report, or the problem (nothing was written).
      const { res } = ctx;
      res.writeHead(200, {
        'content-type': 'application/x-ndjson; charset=utf-8',
        'cache-control': 'no-store',
      });
      const line = (value: unknown) => res.write(`${JSON.stringify(value)}\n`);
      line({ file });
      try {
        const result = await commitAndPublish(
          { db, publish },
          (tx) => applyMalRows(tx, me, rows, (done, total) => line({ progress: { done, total } })),
          (r) => cache.invalidate(r.changedAnime),
          { bulk: true },
        );
        line({ report: result.report });
      } catch (error) {
        ctx.log.warn({ err: error, code: asIsekaiError(error).code }, 'import failed; nothing written');
        line({ problem: toProblem(asIsekaiError(error), ctx.url.pathname) });
      }
      res.end();
      return undefined;
    },
  });
}
