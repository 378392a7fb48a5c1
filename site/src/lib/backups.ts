/**
 * Weekly backups on the import/export page: the viewer's opt-in (library `PATCH /me {weeklyBackup}`), a
 * backup now (`POST /me/backups`) and the stored ones (`GET /me/backups`; downloads via /me/backups/{date}).
 */
import type { BackupRecord } from '../../../functions/lib/backups/backups.ts';
import type { Api } from './api.ts';
import { describeProblem } from './forms.ts';

export type { BackupRecord };

export interface BackupsView {
  weeklyBackup: boolean;
  lastBackupAt: string | null;
  /** Undefined when the store cannot be read (e.g. no object storage): the page says so. */
  items: BackupRecord[] | undefined;
}

export async function loadBackups(api: Api, token: string): Promise<BackupsView> {
  const [me, list] = await Promise.all([
    api.json<{ weeklyBackup: boolean; lastBackupAt: string | null }>({ path: '/me', token }),
    api.json<{ items: BackupRecord[] }>({ path: '/me/backups', token }).catch(() => undefined),
  ]);
  return { weeklyBackup: me.weeklyBackup, lastBackupAt: me.lastBackupAt, items: list?.items };
}

/** Apply the opt-in form or "back up now"; the sentence for the flash message. */
export async function applyBackupForm(
  api: Api,
  token: string,
  form: FormData,
): Promise<{ ok: boolean; message: string }> {
  try {
    if (form.get('action') === 'backup-now') {
      await api.json({ method: 'POST', path: '/me/backups', token });
      return { ok: true, message: 'Your list is backed up.' };
    }
    const weeklyBackup = form.get('weeklyBackup') === 'on';
    await api.json({ method: 'PATCH', path: '/me', token, json: { weeklyBackup } });
    return { ok: true, message: weeklyBackup ? 'Weekly backups are on.' : 'Weekly backups are off.' };
  } catch (error) {
    return { ok: false, message: describeProblem(error).message };
  }
}
