import type { Session } from '../identity.ts';

/** Dev-only: act as any sandbox tenant and user. The foundation has real sign-in instead. */
export function IdentitySwitcher({ session }: { session: Session }) {
  const { identities, identity, me, error, choose } = session;
  if (!identities || !identity) {
    return <span className="shell-muted">{error === null ? 'Loading identities…' : 'No identities'}</span>;
  }

  return (
    <div className="shell-identity">
      <label>
        Tenant
        <select value={identity.tenant} onChange={(e) => choose({ tenant: e.target.value })}>
          {identities.tenants.map((t) => <option key={t.id} value={t.code}>{t.name} ({t.code})</option>)}
        </select>
      </label>
      <label>
        User
        <select value={identity.user} onChange={(e) => choose({ user: e.target.value })}>
          {identities.users.map((u) => <option key={u.id} value={u.email}>{u.name} &lt;{u.email}&gt;</option>)}
        </select>
      </label>
      <span className="shell-muted" title={me?.permissions.join('\n')}>
        {me ? `${me.permissions.length} permission${me.permissions.length === 1 ? '' : 's'}` : '…'}
      </span>
    </div>
  );
}
