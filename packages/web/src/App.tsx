/**
 * The app's routes. Each area (patient portal, clinician workspace, lab, auditor, administrator, the
 * person's own account, activation and passkey sign-in) is one lazily loaded chunk owning its sub-routes, so
 * the first load carries only this shell and adding an area (pharmacy, claims, research) is one line here.
 *
 * Libraries: React 19; React Router 7 (the data router: lazy route chunks, plain URLs a person can bookmark);
 * TanStack Query 5 for everything read from the node (caching, deduplication, invalidation when a
 * Subscription notification arrives, no retry of 4xx answers).
 */
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createBrowserRouter, Navigate, RouterProvider } from 'react-router';
import { ApiError } from './api/client';
import { RequireAccount, SessionProvider, useSignedIn } from './auth/SessionProvider';
import { Callback } from './pages/Callback';
import { Landing } from './pages/Landing';
import { NotFound } from './pages/NotFound';
import { Layout } from './ui/Layout';
import { homeOf } from './ui/navigation';

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 30_000,
      refetchOnWindowFocus: false,
      retry: (count, error) =>
        !(error instanceof ApiError && error.status >= 400 && error.status < 500) && count < 2,
    },
  },
});

function RoleHome() {
  return <Navigate to={homeOf(useSignedIn().role)} replace />;
}

const area = (load: () => Promise<{ default: React.ComponentType }>) => async () => ({
  Component: (await load()).default,
});

const router = createBrowserRouter([
  { path: '/', Component: Landing },
  { path: '/app/callback', Component: Callback },
  { path: '/app/activate/*', lazy: area(() => import('./activate/ActivateArea')) },
  { path: '/app/signin/*', lazy: area(() => import('./signin/SignInArea')) },
  {
    path: '/app',
    element: (
      <RequireAccount>
        <Layout />
      </RequireAccount>
    ),
    children: [
      { index: true, Component: RoleHome },
      { path: 'patient/*', lazy: area(() => import('./patient/PatientArea')) },
      { path: 'clinician/*', lazy: area(() => import('./clinician/ClinicianArea')) },
      { path: 'lab/*', lazy: area(() => import('./lab/LabArea')) },
      { path: 'pharmacy/*', lazy: area(() => import('./pharmacy/PharmacyArea')) },
      { path: 'auditor/*', lazy: area(() => import('./auditor/AuditorArea')) },
      { path: 'admin/*', lazy: area(() => import('./admin/AdminArea')) },
      { path: 'account/*', lazy: area(() => import('./account/AccountArea')) },
      { path: '*', Component: NotFound },
    ],
  },
  { path: '*', Component: NotFound },
]);

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <SessionProvider>
        <RouterProvider router={router} />
      </SessionProvider>
    </QueryClientProvider>
  );
}
