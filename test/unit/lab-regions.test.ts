import { describe, expect, it } from "vitest";
import { DEFAULT_LAB_REGION, labRegionOf, parseLabRegions } from "../../model/lab-regions.ts";

describe("lab regions (--regions eu:home_data,us:compute)", () => {
  it("parses regions in order, each with an optional role", () => {
    expect(parseLabRegions("eu:home_data,us:compute")).toEqual([
      { name: "eu", role: "home_data" },
      { name: "us", role: "compute" },
    ]);
    expect(parseLabRegions("eu, us")).toEqual([{ name: "eu" }, { name: "us" }]);
    expect(parseLabRegions(undefined)).toEqual([]);
  });

  it("refuses a bad name, an unknown role and a region named twice, naming the part", () => {
    expect(() => parseLabRegions("EU:compute")).toThrow(/"EU:compute" is not REGION/);
    expect(() => parseLabRegions("eu:primary")).toThrow(/"primary" is not a region role/);
    expect(() => parseLabRegions("eu,eu")).toThrow(/named twice/);
    expect(() => parseLabRegions("eu:compute:x")).toThrow(/not REGION or REGION:ROLE/);
  });

  it("gives machines the regions in turn", () => {
    const regions = parseLabRegions("eu:home_data,us:compute");
    expect([1, 2, 3].map((n) => labRegionOf(n, regions))).toEqual(["eu", "us", "eu"]);
    expect(labRegionOf(2, [])).toBe(DEFAULT_LAB_REGION);
  });
});
