/** Accounts: this area's screens and sub-routes. */
import { Route, Routes } from 'react-router';
import { NotFound } from '../pages/NotFound';

function Home() {
  return (
    <section className="page">
      <h1>Accounts</h1>
    </section>
  );
}

export default function Area() {
  return (
    <Routes>
      <Route index element={<Home />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}
