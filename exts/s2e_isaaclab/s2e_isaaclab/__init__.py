"""S2E's Isaac Lab 3.0 extension: urban navigation tasks for a wheeled robot and the Unitree Go2."""
