import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeLabelValue, encodeLabelValue } from '../../src/lib/labels.js';

// The label rules GCE applies to a value (Labeling resources): lowercase letters, digits, '_' and '-', 0-63.
const GCE_LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;

describe('label values: chart names and versions, written reversibly', () => {
  const cases: Array<[string, string]> = [
    ['1.0.0-dev.20261115', '1_0_0-dev_20261115'],
    ['1.0.0-dev.20250218', '1_0_0-dev_20250218'],
    ['0.11.0', '0_11_0'],
    ['1.2.3+build.7', '1_2_3__build_7'],
    ['1.0.0-rc.1+sha.abcdef0', '1_0_0-rc_1__sha_abcdef0'],
    ['skypilot-nightly', 'skypilot-nightly'],
    ['skypilot', 'skypilot'],
    ['10', '10'],
    ['v1.2.3', 'v1_2_3'],
  ];
  for (const [text, label] of cases) {
    test(`${text} <-> ${label}`, () => {
      assert.equal(encodeLabelValue(text), label);
      assert.equal(decodeLabelValue(label), text);
    });
  }

  const others = [
    '1.0.0-RC1',
    '1.0.0-Beta.2+Build.11',
    '1..0',
    'a_b',
    '1.0.0-dev.2026+.x',
    'Skypilot_Chart',
    '+1',
  ];
  for (const text of others) {
    test(`${text}: base32 behind ___, valid for GCE, and back`, () => {
      const label = encodeLabelValue(text);
      assert.ok(label, `no label for ${text}`);
      assert.match(label, /^___[a-z2-7]+$/);
      assert.match(label, GCE_LABEL_VALUE);
      assert.equal(decodeLabelValue(label), text);
    });
  }

  test('every encoded value is a valid GCE label value', () => {
    for (const [text] of cases) assert.match(encodeLabelValue(text)!, GCE_LABEL_VALUE);
  });

  test('up to 63 characters: a longer encoding is refused, never cut', () => {
    const fits = `1.0.0-dev.20261115+${'a'.repeat(63 - 20)}`;
    assert.equal(encodeLabelValue(fits)?.length, 63);
    assert.equal(encodeLabelValue(`${fits}b`), undefined);
    assert.equal(encodeLabelValue(''), undefined);
    // Base32 grows by 8/5: 37 bytes still fit behind the mark, 38 do not.
    assert.equal(encodeLabelValue(`V${'x'.repeat(36)}`)?.length, 63);
    assert.equal(encodeLabelValue(`V${'x'.repeat(37)}`), undefined);
  });

  test('values the encoding cannot have written decode to nothing', () => {
    for (const value of ['', '_1', '1_', '1___0', 'a__', '___', '___1', '___abc', 'ABC', '1.0']) {
      assert.equal(decodeLabelValue(value), undefined, value);
    }
  });
});
