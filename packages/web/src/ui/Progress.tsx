/** A long operation in progress: announced to screen readers, with a determinate bar when the share is known. */
export function Progress({ label, value }: { label: string; value?: number }) {
  return (
    <div className="progress" role="status" aria-live="polite">
      {value === undefined ? (
        <span className="spinner" aria-hidden="true" />
      ) : (
        <progress max={1} value={value} aria-label={label} />
      )}
      <span>{label}</span>
    </div>
  );
}
