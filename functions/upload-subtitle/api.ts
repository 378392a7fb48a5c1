import { defineApi } from '../lib/http/contract.ts';

/** Largest subtitle file accepted (Jimaku's tested cap); nginx allows the same on the route. */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;

/** upload-subtitle's route (the table the edge, edge-auth's rules and the OpenAPI document are generated from). */
export const UploadSubtitleApi = defineApi({
  uploadSubtitle: {
    method: 'POST',
    path: '/uploads',
    access: { roles: ['uploader', 'moderator', 'admin'] },
    alsoAnswers: [207, 409, 422],
    summary:
      'Upload a subtitle file or a zip of them (multipart: `file` + animeId, episode, language and optional metadata; a zip answers 207 with a verdict per file)',
    consumes: ['multipart/form-data'],
    // The handler streams the form itself (busboy); the edge refuses bodies past the file limit.
    bodyLimit: MAX_FILE_BYTES,
    status: 201,
  },
});
