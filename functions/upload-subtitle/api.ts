import { defineApi } from '../lib/http/contract.ts';

/** Largest subtitle file accepted (Jimaku's tested cap); nginx allows the same on the route. */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;

/** upload-subtitle's route (the table the edge, edge-auth's rules and the OpenAPI document are generated from). */
export const UploadSubtitleApi = defineApi({
  uploadSubtitle: {
    method: 'POST',
    path: '/uploads',
    access: { roles: ['uploader', 'moderator', 'admin'] },
    summary: 'Upload a subtitle file (multipart: `file` + animeId, episode, language, release?, notes?)',
    consumes: ['multipart/form-data'],
    // The handler streams the form itself (busboy); the edge refuses bodies past the file limit.
    bodyLimit: MAX_FILE_BYTES,
    status: 201,
  },
});
