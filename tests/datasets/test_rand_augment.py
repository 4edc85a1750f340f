"""UMTRandAugment against timm 0.4.12's RandAugment semantics (hand-computed values)."""
import random
import re

import numpy as np
import pytest
from mmaction.registry import TRANSFORMS
from PIL import Image, ImageEnhance, ImageOps

from umt_mm.datasets.transforms import rand_augment as ra
from umt_mm.datasets.transforms.rand_augment import (
    UMTRandAugment,
    apply_op,
    level_to_arg,
    parse_rand_policy,
)

INCREASING = ['AutoContrast', 'Equalize', 'Invert', 'Rotate', 'PosterizeIncreasing',
              'SolarizeIncreasing', 'SolarizeAdd', 'ColorIncreasing', 'ContrastIncreasing',
              'BrightnessIncreasing', 'SharpnessIncreasing', 'ShearX', 'ShearY',
              'TranslateXRel', 'TranslateYRel']
PLAIN = ['AutoContrast', 'Equalize', 'Invert', 'Rotate', 'Posterize', 'Solarize',
         'SolarizeAdd', 'Color', 'Contrast', 'Brightness', 'Sharpness', 'ShearX', 'ShearY',
         'TranslateXRel', 'TranslateYRel']
SIGNED = {'Rotate', 'ShearX', 'ShearY', 'TranslateX', 'TranslateY', 'TranslateXRel',
          'TranslateYRel', 'ColorIncreasing', 'ContrastIncreasing', 'BrightnessIncreasing',
          'SharpnessIncreasing'}


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)


def rand_image(h=48, w=64, seed=0):
    return np.random.RandomState(seed).randint(0, 256, (h, w, 3)).astype(np.uint8)


def run(img, name, *args, **kwargs):
    return np.array(apply_op(Image.fromarray(img), name, args, **kwargs))


# ----------------------------------------------------------------------------- parsing
def test_parse_recipe_policy():
    assert parse_rand_policy('rand-m7-n4-mstd0.5-inc1') == dict(
        magnitude=7, num_layers=4, magnitude_std=0.5, increasing=True, weight_idx=None)
    # timm defaults: magnitude 10, 2 ops, no noise, non-increasing set
    assert parse_rand_policy('rand') == dict(
        magnitude=10, num_layers=2, magnitude_std=0.0, increasing=False, weight_idx=None)
    # sections in any order; inc0 selects the plain set
    assert parse_rand_policy('rand-inc0-n3-mstd1-m9-w0') == dict(
        magnitude=9, num_layers=3, magnitude_std=1.0, increasing=False, weight_idx=0)


@pytest.mark.parametrize('policy, section', [
    ('rnd-m7-n4', 'rnd'),
    ('m7-n4', 'm7'),
    ('', "''"),
    ('rand-m7-x3', 'x3'),
    ('rand-m7-foo', 'foo'),
    ('rand-m7--n4', "''"),
    ('rand-m7.5', 'm7.5'),
    ('rand-n4x', 'n4x'),
    ('rand-mstdabc', 'mstdabc'),
    ('rand-mstd0.5.1', 'mstd0.5.1'),
    ('rand-inc2', 'inc2'),
    ('rand-n0', 'n0'),
    ('rand-w1', 'w1'),
    ('rand-w0-inc1', 'w0'),
])
def test_parse_bad_policy_names_section(policy, section):
    with pytest.raises(ValueError, match=re.escape(section)):
        parse_rand_policy(policy)
    with pytest.raises(ValueError, match=re.escape(section)):
        UMTRandAugment(policy)


def test_build_op_sets_and_repr():
    aug = TRANSFORMS.build(dict(type='UMTRandAugment'))
    assert isinstance(aug, UMTRandAugment)
    assert aug.transforms == INCREASING
    assert (aug.magnitude, aug.num_layers, aug.magnitude_std) == (7, 4, 0.5)
    assert aug.hparams['translate_const'] == 100
    assert aug.hparams['img_mean'] == (128, 128, 128)
    assert aug.hparams['interpolation'] == Image.Resampling.BICUBIC
    assert UMTRandAugment('rand-m7-n4-mstd0.5-inc0').transforms == PLAIN
    assert repr(aug) == ("UMTRandAugment(policy='rand-m7-n4-mstd0.5-inc1', "
                         "translate_const=100, interpolation='bicubic', fill=(128, 128, 128))")
    with pytest.raises(ValueError, match='interpolation'):
        UMTRandAugment(interpolation='cubic')
    with pytest.raises(ValueError, match='fill'):
        UMTRandAugment(fill=(0, 0))


# ------------------------------------------------------------------ level -> arguments
LEVEL_CASES = [
    # name, level, unsigned argument
    ('Rotate', 7, 21.0), ('Rotate', 10, 30.0), ('Rotate', 2.5, 7.5),
    ('ShearX', 7, 0.21), ('ShearY', 10, 0.3),
    ('TranslateXRel', 7, 0.315), ('TranslateYRel', 10, 0.45),
    ('TranslateX', 7, 70.0), ('TranslateY', 10, 100.0),
    ('PosterizeIncreasing', 0, 4), ('PosterizeIncreasing', 2.5, 3),
    ('PosterizeIncreasing', 7, 2), ('PosterizeIncreasing', 10, 0),
    ('Posterize', 0, 0), ('Posterize', 7, 2), ('Posterize', 10, 4),
    ('Solarize', 0, 0), ('Solarize', 7, 179), ('Solarize', 10, 256),
    ('SolarizeIncreasing', 0, 256), ('SolarizeIncreasing', 5, 128),
    ('SolarizeIncreasing', 7, 77), ('SolarizeIncreasing', 10, 0),
    ('SolarizeAdd', 2.5, 27), ('SolarizeAdd', 7, 77), ('SolarizeAdd', 10, 110),
    ('Color', 0, 0.1), ('Contrast', 7, 1.36), ('Brightness', 5, 1.0), ('Sharpness', 10, 1.9),
]


@pytest.mark.parametrize('name, level, expected', LEVEL_CASES)
def test_level_to_arg(monkeypatch, name, level, expected):
    hparams = {'translate_const': 100}
    if name in SIGNED:
        monkeypatch.setattr(random, 'random', lambda: 0.1)  # <= 0.5: keep the sign
        (arg,) = level_to_arg(name, level, hparams)
        assert arg == pytest.approx(expected)
        monkeypatch.setattr(random, 'random', lambda: 0.9)  # > 0.5: negate
        (arg,) = level_to_arg(name, level, hparams)
        assert arg == pytest.approx(-expected)
    else:
        def no_draw():
            raise AssertionError(f'{name} must not draw a sign')
        monkeypatch.setattr(random, 'random', no_draw)
        (arg,) = level_to_arg(name, level, hparams)
        assert arg == pytest.approx(expected)
        assert type(arg) is type(expected)  # ints stay ints (bits, thresholds)


@pytest.mark.parametrize('level, keep, negated', [(0, 1.0, 1.0), (7, 1.63, 0.37),
                                                   (10, 1.9, 0.1), (5, 1.45, 0.55)])
@pytest.mark.parametrize('name', ['ColorIncreasing', 'ContrastIncreasing',
                                  'BrightnessIncreasing', 'SharpnessIncreasing'])
def test_enhance_increasing_level_to_arg(monkeypatch, name, level, keep, negated):
    monkeypatch.setattr(random, 'random', lambda: 0.1)
    assert level_to_arg(name, level)[0] == pytest.approx(keep)
    monkeypatch.setattr(random, 'random', lambda: 0.9)
    assert level_to_arg(name, level)[0] == pytest.approx(negated)


@pytest.mark.parametrize('name', ['AutoContrast', 'Equalize', 'Invert'])
def test_ops_without_arguments(name):
    assert level_to_arg(name, 7) == ()


def test_translate_pct_hparam():
    random.seed(0)
    (arg,) = level_to_arg('TranslateXRel', 10, {'translate_pct': 0.2})
    assert abs(arg) == pytest.approx(0.2)


# -------------------------------------------------------------------------- op effects
def test_invert_solarize_solarize_add_posterize():
    x = rand_image()
    xi = x.astype(np.int32)
    assert np.array_equal(run(x, 'Invert'), 255 - x)
    assert np.array_equal(run(x, 'Solarize', 100), np.where(xi >= 100, 255 - xi, xi))
    assert np.array_equal(run(x, 'SolarizeIncreasing', 256), x)  # level 0: no change
    assert np.array_equal(run(x, 'SolarizeAdd', 50),
                          np.where(xi < 128, np.minimum(xi + 50, 255), xi))
    assert np.array_equal(run(x, 'SolarizeAdd', 110),
                          np.where(xi < 128, np.minimum(xi + 110, 255), xi))
    assert np.array_equal(run(x, 'Posterize', 2), x & 0b11000000)
    assert np.array_equal(run(x, 'PosterizeIncreasing', 3), x & 0b11100000)
    # 0 bits (PosterizeIncreasing at level 10): black, as the reference's Pillow gave
    assert np.array_equal(run(x, 'PosterizeIncreasing', 0), np.zeros_like(x))
    assert np.array_equal(run(x, 'Posterize', 1), x & 0b10000000)
    assert np.array_equal(run(x, 'Posterize', 8), x)


def test_autocontrast_equalize_match_pil():
    x = (rand_image() // 3 + 50).astype(np.uint8)  # values in [50, 135]
    out = run(x, 'AutoContrast')
    assert np.array_equal(out, np.array(ImageOps.autocontrast(Image.fromarray(x))))
    for c in range(3):  # each channel stretched to the full range
        assert out[..., c].min() == 0 and out[..., c].max() == 255
    out = run(x, 'Equalize')
    assert np.array_equal(out, np.array(ImageOps.equalize(Image.fromarray(x))))
    assert not np.array_equal(out, x)


def test_enhance_ops():
    x = rand_image()
    pil = Image.fromarray(x)
    for name, cls in [('Color', ImageEnhance.Color), ('Contrast', ImageEnhance.Contrast),
                      ('Brightness', ImageEnhance.Brightness),
                      ('Sharpness', ImageEnhance.Sharpness),
                      ('ColorIncreasing', ImageEnhance.Color),
                      ('SharpnessIncreasing', ImageEnhance.Sharpness)]:
        assert np.array_equal(run(x, name, 0.37), np.array(cls(pil).enhance(0.37)))
        assert np.array_equal(run(x, name, 1.0), x)  # factor 1 is the identity
    half = run(x, 'Brightness', 0.5).astype(np.int32)
    assert np.abs(half - x.astype(np.float64) * 0.5).max() <= 1
    gray = run(x, 'Color', 0.0)
    assert np.array_equal(gray[..., 0], gray[..., 1])
    assert np.array_equal(gray[..., 0], np.array(pil.convert('L')))


def test_geometric_ops():
    x = rand_image()  # H 48, W 64
    assert np.array_equal(run(x, 'Rotate', 0.0), x)
    sq = rand_image(48, 48)
    assert np.array_equal(run(sq, 'Rotate', 90.0), np.rot90(sq))  # counter-clockwise
    assert np.array_equal(run(x, 'ShearX', 0.0), x)
    assert np.array_equal(run(x, 'ShearY', 0.0), x)
    # pct 0.25 of W 64 = 16 px: content moves left, 16 fill columns on the right
    out = run(x, 'TranslateXRel', 0.25)
    assert np.array_equal(out[:, :48], x[:, 16:])
    assert (out[:, 48:] == 128).all()
    out = run(x, 'TranslateXRel', -0.25)
    assert np.array_equal(out[:, 16:], x[:, :48])
    assert (out[:, :16] == 128).all()
    # pct -0.25 of H 48 = 12 px: content moves down
    out = run(x, 'TranslateYRel', -0.25)
    assert np.array_equal(out[12:], x[:36])
    assert (out[:12] == 128).all()
    out = run(x, 'TranslateX', 10.0)  # absolute pixels
    assert np.array_equal(out[:, :54], x[:, 10:])
    # custom fill colour
    out = run(x, 'TranslateYRel', 0.25, fill=(1, 2, 3))
    assert np.array_equal(out[:36], x[12:])
    assert (out[36:] == np.array([1, 2, 3], np.uint8)).all()


def test_shear_x_rows_shift_by_factor_times_y():
    # rows of constant, distinct values (none is 128): row y keeps its value, and
    # floor(0.5 * y + 0.75) pixels on its right (sampled past the edge) get the fill
    vals = (np.arange(48) * 2 + 10).astype(np.uint8)
    x = np.repeat(np.repeat(vals[:, None], 64, 1)[..., None], 3, 2)
    out = run(x, 'ShearX', 0.5)
    for y in range(48):
        is_fill = (out[y] == 128).all(-1)
        n_fill = int(np.floor(0.5 * y + 0.75))
        assert is_fill.sum() == n_fill and is_fill[64 - n_fill:].all()
        assert (out[y][~is_fill] == vals[y]).all()
    out = run(np.ascontiguousarray(x.transpose(1, 0, 2)), 'ShearY', 0.5)
    assert (out == 128).all(-1).sum() == sum(int(np.floor(0.5 * y + 0.75)) for y in range(48))


# ------------------------------------------------------------------- clip consistency
def test_one_op_draw_per_clip_identical_frames():
    aug = UMTRandAugment()
    frame = rand_image()
    changed = 0
    for seed in range(12):
        seed_all(seed)
        out = aug(dict(imgs=[frame.copy() for _ in range(6)]))['imgs']
        assert all(np.array_equal(f, out[0]) for f in out[1:])
        changed += not np.array_equal(out[0], frame)
    assert changed >= 6


def test_transform_applies_sampled_ops_to_every_frame():
    aug = UMTRandAugment()
    clip = [rand_image(seed=s) for s in range(4)]
    for seed in range(5):
        seed_all(seed)
        ops = aug.sample_ops()
        expected = [aug.apply_ops(f, ops) for f in clip]
        seed_all(seed)
        out = aug(dict(imgs=[f.copy() for f in clip]))['imgs']
        assert all(np.array_equal(a, b) for a, b in zip(out, expected))


def test_sampling_happens_once_per_call(monkeypatch):
    aug = UMTRandAugment()
    counts = dict(sample=0, choice=0, gauss=0)
    orig_sample, orig_choice, orig_gauss = UMTRandAugment.sample_ops, np.random.choice, \
        random.gauss

    def sample(self):
        counts['sample'] += 1
        return orig_sample(self)

    def choice(*args, **kwargs):
        counts['choice'] += 1
        return orig_choice(*args, **kwargs)

    def gauss(*args):
        counts['gauss'] += 1
        return orig_gauss(*args)

    monkeypatch.setattr(UMTRandAugment, 'sample_ops', sample)
    monkeypatch.setattr(np.random, 'choice', choice)
    monkeypatch.setattr(random, 'gauss', gauss)
    seed_all(0)
    for call in range(1, 4):
        aug(dict(imgs=[rand_image() for _ in range(8)]))
        assert counts['sample'] == call and counts['choice'] == call
        assert counts['gauss'] <= 4 * call  # at most one per op, never per frame


def reference_draws(transforms, num_layers, magnitude, mstd):
    """timm's order of draws: choice, then per op prob, gauss, clip, sign."""
    picks = np.random.choice(transforms, num_layers, replace=True)
    out = []
    for name in picks:
        if random.random() > 0.5:
            continue
        mag = min(10.0, max(0.0, random.gauss(magnitude, mstd)))
        negated = random.random() > 0.5 if name in SIGNED else False
        out.append((str(name), mag, negated))
    return out


@pytest.mark.parametrize('policy, transforms', [('rand-m7-n4-mstd0.5-inc1', INCREASING),
                                                ('rand-m9-n3-mstd1-inc0', PLAIN)])
def test_draws_follow_timm_order(policy, transforms):
    aug = UMTRandAugment(policy)
    cfg = parse_rand_policy(policy)
    for seed in range(20):
        seed_all(seed)
        ref = reference_draws(transforms, cfg['num_layers'], cfg['magnitude'],
                              cfg['magnitude_std'])
        next_ref = (random.random(), np.random.rand())
        seed_all(seed)
        ops = aug.sample_ops()
        # nothing else was drawn: both generators are where the reference left them
        assert (random.random(), np.random.rand()) == next_ref
        assert [op.name for op in ops] == [r[0] for r in ref]
        for op, (name, mag, negated) in zip(ops, ref):
            assert op.magnitude == mag
            unsigned = level_to_arg(name, mag) if name not in SIGNED else None
            if unsigned is not None:
                assert op.args == unsigned
            else:
                base = {'Rotate': 30.0, 'ShearX': 0.3, 'ShearY': 0.3, 'TranslateXRel': 0.45,
                        'TranslateYRel': 0.45}.get(name, 0.9) * mag / 10.0
                want = -base if negated else base
                if name.endswith('Increasing'):
                    want += 1.0
                assert op.args[0] == pytest.approx(want)
            assert op.resample == Image.Resampling.BICUBIC


def test_seeded_runs_reproduce():
    aug = UMTRandAugment()
    clip = [rand_image(seed=s) for s in range(3)]
    seed_all(123)
    a = aug(dict(imgs=[f.copy() for f in clip]))['imgs']
    seed_all(123)
    b = aug(dict(imgs=[f.copy() for f in clip]))['imgs']
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


# --------------------------------------------------------------------------- magnitude
def test_magnitudes_clipped_to_0_10():
    aug = UMTRandAugment('rand-m9-n16-mstd100-inc1')
    mags = []
    for seed in range(10):
        seed_all(seed)
        mags += [op.magnitude for op in aug.sample_ops()]
    assert all(0.0 <= m <= 10.0 for m in mags)
    assert 0.0 in mags and 10.0 in mags  # noise this wide hits both bounds

    for policy, want in [('rand-m15-n8', 10.0), ('rand-m0-n8-mstd0', 0.0)]:
        seed_all(0)
        ops = UMTRandAugment(policy).sample_ops()
        assert ops and all(op.magnitude == want for op in ops)


def test_no_noise_without_mstd(monkeypatch):
    def no_gauss(*_):
        raise AssertionError('gauss drawn with mstd 0')
    monkeypatch.setattr(random, 'gauss', no_gauss)
    seed_all(0)
    ops = UMTRandAugment('rand-m7-n8-inc1').sample_ops()
    assert ops and all(op.magnitude == 7.0 for op in ops)


def test_weighted_choice_without_replacement():
    aug = UMTRandAugment('rand-m7-n4-w0')
    assert aug.choice_weights == pytest.approx(
        [0.025, 0.005, 0, 0.3, 0, 0.005, 0.005, 0.025, 0.005, 0.005, 0.025, 0.2, 0.2, 0.1,
         0.1])
    for seed in range(30):
        seed_all(seed)
        names = [op.name for op in aug.sample_ops()]
        assert len(set(names)) == len(names)
        assert 'Posterize' not in names and 'Invert' not in names


# ------------------------------------------------------------------------------ output
def test_shapes_dtype_and_list_preserved():
    aug = UMTRandAugment()
    for seed in range(3):
        seed_all(seed)
        clip = [rand_image(48, 64, seed=s) for s in range(4)]
        results = aug(dict(imgs=clip))
        assert isinstance(results['imgs'], list) and len(results['imgs']) == 4
        for f in results['imgs']:
            assert f.shape == (48, 64, 3) and f.dtype == np.uint8
    arr = np.stack([rand_image(48, 64, seed=s) for s in range(4)])
    out = aug(dict(imgs=arr))['imgs']
    assert isinstance(out, np.ndarray) and out.shape == (4, 48, 64, 3) and out.dtype == np.uint8
    with pytest.raises(ValueError, match='uint8'):
        aug(dict(imgs=[np.zeros((48, 64, 3), np.float32)]))


def test_random_interpolation_drawn_once_per_op():
    aug = UMTRandAugment('rand-m7-n8-inc1', interpolation='random')
    seen = set()
    for seed in range(10):
        seed_all(seed)
        for op in aug.sample_ops():
            seen.add(op.resample)
    assert seen <= {Image.Resampling.BILINEAR, Image.Resampling.BICUBIC}
    assert ra._RANDOM_INTERPOLATION == (Image.Resampling.BILINEAR, Image.Resampling.BICUBIC)


@pytest.mark.parametrize('policy', ['rand-m0-n1-inc1', 'rand-m10-n1-inc1', 'rand-m0-n1-inc0',
                                    'rand-m10-n1-inc0'])
def test_every_op_at_extreme_levels(monkeypatch, policy):
    aug = UMTRandAugment(policy)
    x = rand_image()
    for idx, name in enumerate(aug.transforms):
        for sign_draw in (0.1, 0.9):
            # force op `idx`, force it to apply (prob draw 0.0), then the sign draw
            draws = iter([0.0, sign_draw])
            monkeypatch.setattr(np.random, 'choice', lambda *a, i=idx, **k: np.array([i]))
            monkeypatch.setattr(random, 'random', lambda d=draws: next(d))
            (op,) = aug.sample_ops()
            assert op.name == name and op.magnitude == aug.magnitude
            out = aug.apply_ops(x, [op])
            assert out.shape == x.shape and out.dtype == np.uint8
