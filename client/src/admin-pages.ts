/**
 * The shell's own admin pages, beside the modules' pages. They live under `/admin/`, which no
 * module can take (a module owns `/app/<id>/` only), and each is listed only to callers holding
 * its host permission (rules/host-permission.ts). Hiding is a courtesy: the API checks the
 * permission on every request, so a page opened by URL shows the API's refusal.
 */
import { HOST_PERMISSIONS } from '../../rules/host-permission.ts';

export interface AdminPage { path: string; label: string; permission: string }

export const pluginsPage: AdminPage = { path: '/admin/plugins', label: 'Plugins', permission: HOST_PERMISSIONS.pluginsRead };

/** In menu order. */
export const adminPages: readonly AdminPage[] = [pluginsPage];
