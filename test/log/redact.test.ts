/**
 * Store URLs reach the log at start: no credential they carry may reach it with them, whether in the
 * user info or in a query parameter (libpq accepts `?password=`), and a string that is not a URL shows
 * only its scheme.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactUrl } from '../../src/log/index.ts';

describe('redactUrl', () => {
  it('hides the password of the user info and keeps what an operator needs to see', () => {
    assert.equal(redactUrl('postgres://tcf:s3cret@db.internal:5432/tcf?schema=prod'), 'postgres://tcf:***@db.internal:5432/tcf?schema=prod');
  });

  it('hides credentials passed as query parameters', () => {
    const shown = redactUrl('postgres://db.internal/tcf?user=tcf&password=s3cret&sslpassword=k3y&sslmode=require');
    assert.equal(shown.includes('s3cret'), false, shown);
    assert.equal(shown.includes('k3y'), false, shown);
    assert.equal(shown, 'postgres://db.internal/tcf?user=tcf&password=***&sslpassword=***&sslmode=require');
  });

  it('leaves a URL without credentials as it is, and reduces a non-URL to its scheme', () => {
    assert.equal(redactUrl('postgres://127.0.0.1:5432/test'), 'postgres://127.0.0.1:5432/test');
    assert.equal(redactUrl('postgres:not a url s3cret'), 'postgres:***');
    assert.equal(redactUrl('s3cret'), '***');
  });
});
