import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { DevUser } from './site-browser.ts';
import { notificationDoc, useSiteStack } from './site-fixture.ts';

/**
 * What the site says when something is refused or answered, met the way a newcomer meets it: the built
 * site behind the real nginx edge, the harness's Keycloak, Chromium (Debian's, driven by playwright-core).
 * A MAL import of a file that is not XML names the reason next to the file field (with and without
 * JavaScript); an upload with a bad language tag says so in words, not as a JSON schema; settings list
 * the product's roles by name, not Keycloak's; an answered invitation shows how it was answered.
 */
const DEADLINE_MS = 30_000;
const site = useSiteStack({
  bulk: false,
  label: 'messages',
  notifications: true,
  uploads: true,
  bucket: true,
});

/** A fresh page signed in as a dev user (JavaScript on unless said). */
const browse = (user: DevUser, javaScript = true) => site.browse(user, { javaScriptEnabled: javaScript });

const NOT_XML = { name: 'list.xml', mimeType: 'application/xml', buffer: Buffer.from('not xml at all\n') };

describe('a MAL import of a file that is not XML', () => {
  it.each([
    ['without JavaScript', false],
    ['with JavaScript (the progress relay)', true],
  ])('%s: the reason stands next to the file field', async (_name, javaScript) => {
    const page = await browse('viewer1', javaScript);
    await page.goto(`${site.stack.siteUrl}/me/import`);
    await page.locator('#file').setInputFiles(NOT_XML);
    await page.getByRole('button', { name: 'Import' }).click();
    const reason = page.getByTestId('file-error');
    await expect.poll(() => reason.count(), { timeout: DEADLINE_MS }).toBe(1);
    expect(await reason.textContent()).toMatch(/^The file is not well-formed XML \(line 1/);
    expect(await page.locator('#file').getAttribute('aria-describedby')).toBe('file-error');
    expect(await page.locator('#file').getAttribute('aria-invalid')).toBe('true');
  });
});

describe('an upload with a language that is not a tag', () => {
  it('says what a language tag looks like, never the schema', async () => {
    const page = await browse('uploader1', false);
    await page.goto(`${site.stack.siteUrl}/upload`);
    await page.locator('#animeId').fill('1');
    await page.locator('#episode').fill('1');
    await page.locator('#language').fill('english please');
    await page.locator('#file').setInputFiles({
      name: 'ep1.srt',
      mimeType: 'application/x-subrip',
      buffer: Buffer.from('1\n00:00:01,000 --> 00:00:02,000\nHello.\n'),
    });
    await page.getByRole('button', { name: 'Upload' }).click();
    const verdict = page.locator('[data-outcome="refused"]');
    await verdict.waitFor();
    const text = (await verdict.textContent()) ?? '';
    expect(text).toContain('Use a language tag such as en or pt-BR.');
    expect(text).not.toMatch(/pattern|\/body|invalid body/);
  });
});

describe('the roles on the settings page', () => {
  it("are the product's roles by name, without Keycloak's own", async () => {
    const page = await browse('moderator1', false);
    await page.goto(`${site.stack.siteUrl}/me/settings`);
    const roles = (await page.getByTestId('roles').textContent()) ?? '';
    expect(roles).toContain('Moderator');
    expect(roles).not.toMatch(/default-roles|offline_access|uma_authorization/);
  });
});

describe('an answered group invitation in the inbox', () => {
  it('shows the answer once notify has recorded it, and no more buttons', async () => {
    const { sub } = await site.tokenOf('viewer1');
    const inbox = site.inbox();
    const invitationId = randomUUID();
    // As notify stores group.invited (functions/notify/messages.ts), then closes it on the answer.
    await inbox.insertOnce([
      notificationDoc(sub, 'You are invited to join Moonlight Subs as translator', {
        kind: 'group.invited',
        data: {
          invitationId,
          groupSlug: 'moonlight-subs',
          groupName: 'Moonlight Subs',
          roles: ['translator'],
        },
        actions: [
          {
            name: 'accept',
            label: 'Accept',
            method: 'POST',
            url: `/group-invitations/${invitationId}/accept`,
          },
          {
            name: 'decline',
            label: 'Decline',
            method: 'POST',
            url: `/group-invitations/${invitationId}/decline`,
          },
        ],
        doneAt: null,
      }),
    ]);
    const page = await browse('viewer1', false);
    await page.goto(`${site.stack.siteUrl}/me/notifications`);
    const row = page.locator('li.notification[data-kind="group.invited"]');
    await expect.poll(() => row.getByRole('button', { name: 'Accept' }).count()).toBe(1);
    expect(await row.getByTestId('answered').count()).toBe(0);

    expect(await inbox.markDone('group.invited', 'invitationId', invitationId, 'accepted', new Date())).toBe(
      1,
    );
    await page.reload();
    expect(await row.getByTestId('answered').textContent()).toBe('Accepted');
    expect(await row.getByRole('button', { name: 'Accept' }).count()).toBe(0);
  });
});
