import { Link, useLocation } from 'react-router-dom';

export function NotFound() {
  const { pathname } = useLocation();
  return (
    <>
      <h1>Not found</h1>
      <p>No loaded module has a page at <code>{pathname}</code>.</p>
      <p><Link to="/">Back to the loaded modules</Link></p>
    </>
  );
}
