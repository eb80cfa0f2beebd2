import { PageTitle } from '../../components/PageTitle';

export function NotFoundPage() {
  return (
    <section class="narrow">
      <PageTitle title="Page not found" />
      <p>There is no page at this address.</p>
      <p>
        <a href="/">Go to the start page</a>
      </p>
    </section>
  );
}
