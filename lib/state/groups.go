package state

// assignGroups gives every container a group and fills unset goals,
// policies and auto-recovery from it. Rules (upstream code):
//   - "group" names an existing group, else the state is invalid;
//   - legacy "runlevel" means the group of that name (deprecated);
//   - with the default groups, the first unassigned container in state
//     order goes to "root" if root is empty, the others to "platform";
//   - with explicit groups, unassigned containers go to the last group
//     (the docs say the revision fails; the code warns).
func (s *State) assignGroups(Options) error {
	for _, c := range s.Containers {
		if c.Group == "" && c.Runlevel != "" {
			s.warnf("%s: runlevel is deprecated, use group %q", c.Key, c.Runlevel)
			c.Group = c.Runlevel
		}
		if c.Group != "" && s.Group(c.Group) == nil {
			return errorf(c.Key, "group: unknown group %q", c.Group)
		}
	}
	for _, c := range s.Containers {
		if c.Group != "" {
			continue
		}
		switch {
		case len(s.Device.Groups) == 0:
			return errorf(c.Key, "group: no group to put the container in (groups list is empty)")
		case !s.Device.DefaultGroups:
			last := s.Device.Groups[len(s.Device.Groups)-1].Name
			s.warnf("%s: no group, using the last group %q", c.Key, last)
			c.Group = last
		case s.Group("root") != nil && len(s.Members("root")) == 0:
			c.Group = "root"
		default:
			c.Group = "platform"
		}
	}
	for _, c := range s.Containers {
		g := s.Group(c.Group)
		if c.StatusGoal == "" {
			c.StatusGoal = g.StatusGoal
		}
		if c.RestartPolicy == "" {
			c.RestartPolicy = g.RestartPolicy
		}
		if c.AutoRecovery == nil && g.AutoRecovery != nil {
			ar := *g.AutoRecovery
			c.AutoRecovery = &ar
		}
	}
	return nil
}

// Group returns the group called name, or nil.
func (s *State) Group(name string) *Group {
	for i := range s.Device.Groups {
		if s.Device.Groups[i].Name == name {
			return &s.Device.Groups[i]
		}
	}
	return nil
}

// Members returns the containers of a group in state order.
func (s *State) Members(group string) []*Container {
	var out []*Container
	for _, c := range s.Containers {
		if c.Group == group {
			out = append(out, c)
		}
	}
	return out
}
