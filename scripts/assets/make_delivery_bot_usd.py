"""Author the sidewalk delivery robot as USD (differential drive, two casters), with UsdPhysics only.

A 0.7 x 0.5 m box body on two driven wheels (radius 0.1 m, track 0.5 m) and two frictionless
caster spheres, ~25 kg: the size of common sidewalk delivery robots. The articulation root is the
chassis; the wheels are revolute joints about the body's y axis. Run with the project's Python:

    ./isaaclab.sh -p scripts/assets/make_delivery_bot_usd.py [--out assets/robots/delivery_bot/delivery_bot.usda]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pxr import Gf, Sdf, Usd, UsdGeom, UsdPhysics, UsdShade

WHEEL_RADIUS, WHEEL_WIDTH, TRACK = 0.1, 0.06, 0.5
BODY_SIZE = (0.7, 0.44, 0.4)
BODY_BOTTOM = 0.02  # above the axle
CASTER_RADIUS, CASTER_X, CASTER_LIFT = 0.05, 0.27, 0.01


def _material(stage: Usd.Stage, path: str, friction: float) -> UsdShade.Material:
    mat = UsdShade.Material.Define(stage, path)
    api = UsdPhysics.MaterialAPI.Apply(mat.GetPrim())
    api.CreateStaticFrictionAttr(friction)
    api.CreateDynamicFrictionAttr(friction)
    api.CreateRestitutionAttr(0.0)
    return mat


def _bind(prim: Usd.Prim, mat: UsdShade.Material) -> None:
    UsdShade.MaterialBindingAPI.Apply(prim).Bind(mat, UsdShade.Tokens.weakerThanDescendants, "physics")


def build(out: Path) -> Path:
    stage = Usd.Stage.CreateNew(str(out))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    root = UsdGeom.Xform.Define(stage, "/delivery_bot")
    stage.SetDefaultPrim(root.GetPrim())
    rubber = _material(stage, "/delivery_bot/Materials/rubber", 1.0)
    slick = _material(stage, "/delivery_bot/Materials/slick", 0.01)  # MuJoCo wants mu >= 1e-5

    base = UsdGeom.Xform.Define(stage, "/delivery_bot/base")
    UsdPhysics.RigidBodyAPI.Apply(base.GetPrim())
    UsdPhysics.ArticulationRootAPI.Apply(base.GetPrim())
    UsdPhysics.MassAPI.Apply(base.GetPrim()).CreateMassAttr(22.0)
    body = UsdGeom.Cube.Define(stage, "/delivery_bot/base/chassis")
    body.CreateSizeAttr(1.0)
    body.AddTranslateOp().Set(Gf.Vec3d(0.0, 0.0, BODY_BOTTOM + BODY_SIZE[2] / 2))
    body.AddScaleOp().Set(Gf.Vec3f(*BODY_SIZE))
    body.CreateDisplayColorAttr([(0.9, 0.9, 0.92)])
    UsdPhysics.CollisionAPI.Apply(body.GetPrim())
    for name, x in (("caster_front", CASTER_X), ("caster_rear", -CASTER_X)):
        s = UsdGeom.Sphere.Define(stage, f"/delivery_bot/base/{name}")
        s.CreateRadiusAttr(CASTER_RADIUS)
        # 1 cm above the wheels' contact line: the weight rests on the driven wheels, casters only stop pitching.
        s.AddTranslateOp().Set(Gf.Vec3d(x, 0.0, -(WHEEL_RADIUS - CASTER_RADIUS) + CASTER_LIFT))
        UsdPhysics.CollisionAPI.Apply(s.GetPrim())
        _bind(s.GetPrim(), slick)

    for side, y in (("left", TRACK / 2), ("right", -TRACK / 2)):
        wheel = UsdGeom.Xform.Define(stage, f"/delivery_bot/{side}_wheel")
        wheel.AddTranslateOp().Set(Gf.Vec3d(0.0, y, 0.0))
        UsdPhysics.RigidBodyAPI.Apply(wheel.GetPrim())
        UsdPhysics.MassAPI.Apply(wheel.GetPrim()).CreateMassAttr(1.5)
        cyl = UsdGeom.Cylinder.Define(stage, f"/delivery_bot/{side}_wheel/tire")
        cyl.CreateRadiusAttr(WHEEL_RADIUS)
        cyl.CreateHeightAttr(WHEEL_WIDTH)
        cyl.CreateAxisAttr(UsdGeom.Tokens.y)
        cyl.CreateDisplayColorAttr([(0.1, 0.1, 0.1)])
        UsdPhysics.CollisionAPI.Apply(cyl.GetPrim())
        _bind(cyl.GetPrim(), rubber)
        joint = UsdPhysics.RevoluteJoint.Define(stage, f"/delivery_bot/base/{side}_wheel_joint")
        joint.CreateBody0Rel().SetTargets([Sdf.Path("/delivery_bot/base")])
        joint.CreateBody1Rel().SetTargets([Sdf.Path(f"/delivery_bot/{side}_wheel")])
        joint.CreateAxisAttr(UsdPhysics.Tokens.y)
        joint.CreateLocalPos0Attr(Gf.Vec3f(0.0, y, 0.0))
        joint.CreateLocalPos1Attr(Gf.Vec3f(0.0, 0.0, 0.0))
        joint.CreateLocalRot0Attr(Gf.Quatf(1.0))
        joint.CreateLocalRot1Attr(Gf.Quatf(1.0))
        drive = UsdPhysics.DriveAPI.Apply(joint.GetPrim(), "angular")
        drive.CreateTypeAttr("force")
        drive.CreateStiffnessAttr(0.0)
        drive.CreateDampingAttr(10.0)
        drive.CreateMaxForceAttr(40.0)
    stage.GetRootLayer().Save()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[2] / "assets/robots/delivery_bot/delivery_bot.usda"
    parser.add_argument("--out", type=Path, default=default)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.exists():
        args.out.unlink()
    print(f"wrote {build(args.out)}")


if __name__ == "__main__":
    main()
