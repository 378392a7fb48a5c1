import Type, { type Static } from 'typebox';
import { asIsekaiError, Unprocessable, ValidationFailed } from '../lib/errors.ts';
import type { Identity } from '../lib/http/types.ts';
import { toProblem } from '../lib/problem.ts';
import { convertAndCheck } from '../lib/validate.ts';
import type { MultipartForm } from './multipart.ts';
import { normaliseUpload, storeUpload, type UploadDeps, UploadFields } from './upload.ts';
import { episodeFromName, readZip } from './zip.ts';

/** The fields of a zip upload: as one file's, but `episode` may come from each file's name. */
export const ZipFields = Type.Object(
  { ...UploadFields.properties, episode: Type.Optional(UploadFields.properties.episode) },
  { additionalProperties: false },
);
export type ZipFields = Static<typeof ZipFields>;

/** One file's verdict: stored (201 with the subtitle) or refused (its problem). */
export type ZipVerdict =
  | {
      readonly name: string;
      readonly status: 201;
      readonly subtitle: Awaited<ReturnType<typeof storeUpload>>;
    }
  | { readonly name: string; readonly status: number; readonly problem: ReturnType<typeof toProblem> };

/**
 * Store each subtitle of a zip with its own verdict (the 207 body): the form's fields apply to every
 * file, the episode from the form or else from each file name. A refused file never stops the others;
 * a fault of MongoDB or RGW does (503 — files stored before it stay, each complete).
 */
export async function uploadZip(
  deps: UploadDeps,
  identity: Identity,
  form: MultipartForm & { file: NonNullable<MultipartForm['file']> },
): Promise<{ files: ZipVerdict[]; stored: number }> {
  const fields = convertAndCheck<ZipFields>(ZipFields, { ...form.fields }, '/body');
  const members = await readZip(form.file.bytes);
  if (members.length === 0) {
    throw new Unprocessable('the zip holds no files', {
      issues: [{ field: '/body/file', message: 'holds no files' }],
    });
  }
  const files: ZipVerdict[] = [];
  for (const member of members) {
    try {
      if ('error' in member) throw member.error;
      const episode = fields.episode ?? episodeFromName(member.name);
      if (episode === undefined) {
        throw new ValidationFailed(`${member.name}: the file name does not say which episode`, {
          issues: [
            { field: '/body/episode', message: 'required when a file name does not name the episode' },
          ],
        });
      }
      const upload = normaliseUpload({
        fields: { ...form.fields, episode: String(episode) },
        file: { field: 'file', fileName: member.name.split('/').pop(), bytes: member.bytes },
      });
      const subtitle = await storeUpload(deps, identity, upload);
      files.push({ name: member.name, status: 201, subtitle });
    } catch (error) {
      const problem = toProblem(asIsekaiError(error));
      if (problem.status >= 500) throw error;
      files.push({ name: member.name, status: problem.status, problem });
    }
  }
  return { files, stored: files.filter((f) => f.status === 201).length };
}
