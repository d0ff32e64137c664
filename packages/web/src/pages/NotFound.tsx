import { Link } from 'react-router';

export function NotFound() {
  return (
    <section className="page">
      <h1>Page not found</h1>
      <p>
        This address is not a page of medledger. <Link to="/app">Go to your home page</Link>.
      </p>
    </section>
  );
}
