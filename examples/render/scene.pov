// Agora demo scene: three glossy spheres orbit a mirror ball over a checkered floor.
// Animated by `clock` (0 ≤ clock < 1 loops seamlessly); renders in about a second at 320×240.
#version 3.7;

global_settings { assumed_gamma 1.0 max_trace_level 6 }

#declare Turn = 360 * clock;

camera {
  location <0, 2.2, -6.5>
  look_at <0, 0.7, 0>
  angle 45
  rotate <0, -20 + 40 * sin(radians(Turn)), 0>
}

light_source { <-6, 9, -7> color rgb <1.0, 0.95, 0.9> }
light_source { <7, 4, -3> color rgb <0.25, 0.3, 0.45> shadowless }

sky_sphere {
  pigment {
    gradient y
    color_map { [0.0 color rgb <0.95, 0.75, 0.55>] [0.35 color rgb <0.35, 0.55, 0.9>] [1.0 color rgb <0.1, 0.2, 0.5>] }
  }
}

plane {
  y, 0
  texture {
    pigment { checker color rgb <0.9, 0.9, 0.88> color rgb <0.12, 0.14, 0.2> scale 1.2 }
    finish { diffuse 0.8 reflection { 0.08 } }
  }
}

// The mirror ball in the middle, bobbing gently.
sphere {
  <0, 1.0 + 0.15 * sin(radians(2 * Turn)), 0>, 1.0
  texture { pigment { color rgb 0.9 } finish { ambient 0 diffuse 0.1 reflection { 0.85 } specular 0.9 roughness 0.002 } }
}

#macro Orbiter(Phase, Colour, Height)
  sphere {
    <2.1, Height + 0.25 * sin(radians(Turn * 2 + Phase)), 0>, 0.45
    rotate <0, Turn + Phase, 0>
    texture { pigment { color rgb Colour } finish { diffuse 0.75 specular 0.6 roughness 0.01 reflection { 0.12 } } }
  }
#end

Orbiter(0, <0.95, 0.3, 0.25>, 0.6)
Orbiter(120, <0.25, 0.85, 0.4>, 0.9)
Orbiter(240, <0.3, 0.45, 0.95>, 0.75)
